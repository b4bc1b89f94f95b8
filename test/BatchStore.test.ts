import { BatchStore } from "effect-agents/http"
import { batchSuite } from "./fixtures/batchSuite.js"

batchSuite("memory", () => BatchStore.layerMemory)
