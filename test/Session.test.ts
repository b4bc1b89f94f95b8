import { Session } from "effect-agents"
import { sessionSuite } from "./fixtures/sessionSuite.js"

sessionSuite("the memory store", () => Session.layerMemory)
