import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"

/** Effect's built-in tracer: it keeps spans in memory and exports nothing. */
const nativeTracer = Effect.runSync(Effect.tracer)

/**
 * Whether spans can be seen: tracing is enabled and the tracer is not Effect's
 * built-in one (an application installed OpenTelemetry, DevTools or its own).
 * With nothing to see them, a run skips its spans: in Effect 3 each span
 * copies the fiber's context, which costs a third of a step.
 */
export const isTracing: Effect.Effect<boolean> = Effect.zipWith(
  Effect.tracer,
  FiberRef.get(FiberRef.currentTracerEnabled),
  (tracer, enabled) => enabled && tracer !== nativeTracer
)
