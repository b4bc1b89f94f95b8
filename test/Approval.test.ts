import { RunStore } from "effect-agents"
import { approvalSuite } from "./fixtures/approvalSuite.js"

approvalSuite("memory", () => RunStore.layerMemory)
