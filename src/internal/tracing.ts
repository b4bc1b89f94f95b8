import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { identity } from "effect/Function"
import type * as Tracer from "effect/Tracer"

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

/** Spans and span attributes that cost nothing when no tracer listens. */
export interface Tracing {
  readonly traced: boolean
  readonly span: (name: string, options?: Tracer.SpanOptions) => <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
  readonly annotate: (attributes: Record<string, unknown>) => Effect.Effect<void>
}

const untraced: Tracing = { traced: false, span: () => identity, annotate: () => Effect.void }

/**
 * OpenTelemetry's `error.type` of a failure: a tagged error's tag
 * (`RateLimited`, `ToolTimeout`), else the convention's `_OTHER`.
 */
export const errorType = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : "_OTHER"

/** The GenAI conventions' operation names (`gen_ai.operation.name`), which also begin their spans' names. */
export const operation = {
  chat: "chat",
  executeTool: "execute_tool",
  invokeAgent: "invoke_agent",
  invokeWorkflow: "invoke_workflow"
} as const

const traced: Tracing = {
  traced: true,
  // a span that fails says why in `error.type`, as the conventions ask (its status is the tracer's: an error)
  span: (name, options) => (self) =>
    Effect.withSpan(
      Effect.tapError(self, (error) => Effect.annotateCurrentSpan("error.type", errorType(error))),
      name,
      { captureStackTrace: false, ...options }
    ),
  annotate: (attributes) => Effect.annotateCurrentSpan(attributes)
}

/** The spans of the current fiber: real ones where a tracer listens (see {@link isTracing}), none otherwise. */
export const tracing: Effect.Effect<Tracing> = Effect.map(isTracing, (on) => on ? traced : untraced)
