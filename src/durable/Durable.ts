/**
 * Durable runs on `@effect/workflow` and `@effect/cluster`: a run of an agent,
 * a team (`make`) or a DAG (`dag`) is a workflow whose model calls and tool
 * calls are activities, persisted as each one ends. After a crash (`kill -9`), the run resumes by itself
 * when the process starts again (or, with runners on Postgres, on another
 * runner), and no call that ended is made again:
 *
 * - a step's model call (its retries and fallbacks included) that was in
 *   flight is made again;
 * - a tool call that was in flight is made again only if its tool is
 *   `idempotent`; otherwise the model reads that its outcome is unknown
 *   (at most once);
 * - agents called as tools, a team's members and the agents of a DAG's
 *   nodes record their own calls the same way.
 *
 * @example
 * ```ts
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Effect, Layer } from "effect"
 * import { Agent } from "effect-agents"
 * import { Durable } from "effect-agents/durable"
 *
 * declare const agent: Agent.Agent
 * const durable = Durable.make(agent)
 *
 * const Live = durable.layer.pipe(
 *   Layer.provideMerge(Durable.layerSingleRunner()),
 *   Layer.provide(SqliteClient.layer({ filename: "runs.db" }))
 * )
 *
 * // the same runId after a restart waits for the same run, which went on by itself
 * const program = durable.run("Book my trip", { runId: "trip-42" }).pipe(Effect.provide(Live))
 * ```
 *
 * @since 0.1.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Activity from "@effect/workflow/Activity"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as Workflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as os from "node:os"
import type * as Agent from "../Agent.js"
import * as AgentError from "../AgentError.js"
import * as Approval from "../Approval.js"
import * as Dag from "../Dag.js"
import { DurableNotServed } from "../http/AgentApi.js"
import * as DurableRuns from "../http/DurableRuns.js"
import * as Registry from "../http/Registry.js"
import type { Journal } from "../internal/journal.js"
import * as RunContext from "../internal/runContext.js"
import * as Suspended from "../internal/suspended.js"
import * as ToolCalls from "../internal/toolCalls.js"
import * as LanguageModel from "../LanguageModel.js"
import { ModelError } from "../ModelError.js"
import * as Run from "../Run.js"
import * as Team from "../Team.js"

/**
 * The journal of one execution of a run's workflow: each call an activity
 * named by its key. A non-idempotent tool's call records that it started
 * first: replayed, a start without an end was in flight at the crash. A
 * call waiting for approval awaits a durable deferred.
 */
const journal = (
  context: Context.Context<WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance>,
  onApproval: (request: Approval.Request) => Effect.Effect<void>,
  cancelled: Effect.Effect<boolean>
): Journal => {
  const activity = <A, I, E, EI>(
    name: string,
    success: Schema.Schema<A, I>,
    error: Schema.Schema<E, EI>,
    execute: Effect.Effect<A, E>
  ) => Effect.provide(Activity.make({ name, success, error, execute }), context)
  // a cancelled run stops before its next model call (the engine's own interruption waits for the run to suspend)
  const stop = Effect.flatMap(Effect.provide(WorkflowEngine.WorkflowInstance, context), (instance) => {
    instance.interrupted = true
    return Effect.interrupt
  })
  return {
    model: (key, call) =>
      Effect.flatMap(
        cancelled,
        (yes) => yes ? stop : activity(key, LanguageModel.GenerateResponse, ModelError, call)
      ),
    tool: (key, idempotent, call, unknown) => {
      if (idempotent) return activity(key, ToolCalls.Done, Schema.Never, call)
      return Effect.suspend(() => {
        let fresh = false
        const started = activity(
          `${key}/started`,
          Schema.Void,
          Schema.Never,
          Effect.sync(() => {
            fresh = true
          })
        )
        return Effect.zipRight(
          started,
          Effect.suspend(() => activity(key, ToolCalls.Done, Schema.Never, fresh ? call : Effect.succeed(unknown)))
        )
      })
    },
    // the request is told once; the run waits, suspended across restarts, for the decision
    approval: (request) =>
      Effect.zipRight(
        activity(`${request.runId}/approval/${request.approvalId}`, Schema.Void, Schema.Never, onApproval(request)),
        Effect.provide(DurableDeferred.await(decisionOf(request.approvalId)), context)
      )
  }
}

/** The table of the runs cancelled, in the engine's database: a run at work reads it before each model call. */
const cancelsTable = "effect_agents_durable_cancels"

/** Makes the table, once: runners that start together may race, and the loser tries again. */
const cancels = (sql: SqlClient.SqlClient) =>
  sql`CREATE TABLE IF NOT EXISTS ${sql(cancelsTable)} (execution_id TEXT PRIMARY KEY)`.pipe(
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(10))))
  )

const isCancelled = (sql: SqlClient.SqlClient, executionId: string) =>
  Effect.map(
    sql`SELECT 1 AS cancelled FROM ${sql(cancelsTable)} WHERE execution_id = ${executionId}`,
    (rows) => rows.length > 0
  )

/** Where the decision on an approval comes: a durable deferred of the run, named by the approval. */
const decisionOf = (approvalId: string) =>
  DurableDeferred.make(`approval/${approvalId}`, { success: Approval.Decision })

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** The run's id: the same id is the same run, whichever process asks. */
  readonly runId: string
}

/**
 * Runs that are durable: an agent's, a team's (`make`) or a DAG's (`dag`),
 * taking `Input` and answering `Result`, or failing with `E`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Durable<Input, Result, E> {
  /**
   * Registers the workflow with the engine: build it with the engine,
   * before any run starts. It keeps the runs cancelled in a table of the
   * engine's database (`effect_agents_durable_cancels`).
   */
  readonly layer: Layer.Layer<never, SqlError, WorkflowEngine.WorkflowEngine | SqlClient.SqlClient>
  /**
   * Runs it durably under `runId` and waits for its result. Asking
   * again for the same `runId` (after a restart, say) waits for the same
   * run, or answers its result, without running it again.
   */
  run(input: Input, options: RunOptions): Effect.Effect<Result, E, WorkflowEngine.WorkflowEngine>
  /** Starts the run durably and answers at once. */
  start(input: Input, options: RunOptions): Effect.Effect<void, never, WorkflowEngine.WorkflowEngine>
  /**
   * Approves a call the run `runId` waits for (see `Approval`): the run,
   * suspended until then (across restarts), goes on; `always` approves the
   * tool's later calls in the run too. The first decision counts.
   */
  approve(
    runId: string,
    approvalId: string,
    options?: { readonly always?: boolean | undefined; readonly by?: string | undefined }
  ): Effect.Effect<void, never, WorkflowEngine.WorkflowEngine>
  /** Rejects a call the run `runId` waits for: the model reads `message` as its result. */
  reject(
    runId: string,
    approvalId: string,
    options?: { readonly message?: string | undefined; readonly by?: string | undefined }
  ): Effect.Effect<void, never, WorkflowEngine.WorkflowEngine>
  /**
   * Cancels the run, from any process with the engine: a run waiting for an
   * approval stops at once; a run at work stops before its next model call
   * (the model call or tool calls under way finish first). Its outcome is
   * then an interruption.
   */
  cancel(runId: string): Effect.Effect<void, SqlError, WorkflowEngine.WorkflowEngine | SqlClient.SqlClient>
  /** The run's outcome once it has ended; none while it runs (or before it started). */
  poll(runId: string): Effect.Effect<Option.Option<Exit.Exit<Result, E>>, never, WorkflowEngine.WorkflowEngine>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Told once of each call that waits for a person's approval (send them a
   * message, say); the run waits, suspended across restarts, until
   * `approve` or `reject`. Default: the request is logged.
   */
  readonly onApproval?: ((request: Approval.Request) => Effect.Effect<void>) | undefined
}

/** A durable workflow: its name, the Schemas of its input, result and error, and what a run does. */
interface Spec<Input, II, Result, RI, E, EI> {
  readonly name: string
  readonly input: Schema.Schema<Input, II>
  readonly success: Schema.Schema<Result, RI>
  readonly error: Schema.Schema<E, EI>
  readonly execute: (input: Input, runId: string) => Effect.Effect<Result, E>
}

const logApproval = (request: Approval.Request) =>
  Effect.logInfo(`run ${request.runId} waits for approval ${request.approvalId}: ${request.toolCall.name}`)

/** The workflow of `spec`, its runs' model and tool calls journaled, its approvals durable deferreds. */
const durable = <Input, II, Result, RI, E, EI>(
  spec: Spec<Input, II, Result, RI, E, EI>,
  options: Options | undefined
): Durable<Input, Result, E> => {
  const onApproval = options?.onApproval ?? logApproval
  const workflow = Workflow.make({
    name: spec.name,
    payload: { runId: Schema.String, input: spec.input },
    success: spec.success,
    error: spec.error,
    idempotencyKey: ({ runId }) => runId,
    // a caller waiting for a suspended run (an approval) asks again at most every 5 s
    suspendedRetrySchedule: Schedule.exponential("200 millis", 1.5).pipe(Schedule.union(Schedule.spaced("5 seconds")))
  })
  const layer = Layer.unwrapEffect(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* cancels(sql)
    return workflow.toLayer(({ input, runId }, executionId) =>
      Effect.flatMap(
        Effect.context<WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance>(),
        (context) => {
          const cancelled = Effect.orDie(isCancelled(sql, executionId))
          return RunContext.locally(
            spec.execute(input, runId),
            (outer) => ({ ...outer, journal: journal(context, onApproval, cancelled) })
          )
        }
      )
    )
  }))
  // an execution's id is made of the workflow's name and idempotency key (the run id) alone: a twin
  // workflow whose payload is the run id makes it without the input
  const ids = Workflow.make({
    name: spec.name,
    payload: { runId: Schema.String },
    idempotencyKey: ({ runId }) => runId
  })
  const executionId = (runId: string) => ids.executionId({ runId })
  const decide = (runId: string, approvalId: string, verdict: Suspended.Verdict) =>
    Effect.gen(function*() {
      const deferred = decisionOf(approvalId)
      const token = DurableDeferred.tokenFromExecutionId(deferred, { workflow, executionId: yield* executionId(runId) })
      const at = yield* Clock.currentTimeMillis
      yield* DurableDeferred.succeed(deferred, { token, value: { ...verdict, at } })
    })
  return {
    layer,
    run: (input, { runId }) => workflow.execute({ runId, input }),
    start: (input, { runId }) => Effect.asVoid(workflow.execute({ runId, input }, { discard: true })),
    cancel: (runId) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const id = yield* executionId(runId)
        yield* sql`INSERT INTO ${sql(cancelsTable)} (execution_id) VALUES (${id}) ON CONFLICT (execution_id) DO NOTHING`
        yield* workflow.interrupt(id)
      }),
    approve: (runId, approvalId, options) => decide(runId, approvalId, Suspended.approval(options)),
    reject: (runId, approvalId, options) => decide(runId, approvalId, Suspended.rejection(options)),
    poll: (runId) =>
      Effect.map(
        Effect.flatMap(executionId(runId), workflow.poll),
        (result) => result !== undefined && result._tag === "Complete" ? Option.some(result.exit) : Option.none()
      )
  }
}

/**
 * An agent or a team whose runs are durable. Its answer is a string unless
 * `output` gives the Schema of its output (the one it was made with). In a
 * team, the leader's and every member's calls are recorded (a member's
 * run has the same id on every replay), and a member's call waiting for
 * approval waits durably, whatever the team's mode.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  (
    runnable: Agent.Runnable<string>,
    options?: Options
  ): Durable<Run.Input, Run.RunResult<string>, AgentError.AgentError>
  <Output, I>(
    runnable: Agent.Runnable<Output>,
    options: Options & { readonly output: Schema.Schema<Output, I> }
  ): Durable<Run.Input, Run.RunResult<Output>, AgentError.AgentError>
} = <Output, I>(
  runnable: Agent.Runnable<Output>,
  options?: Options & { readonly output?: Schema.Schema<Output, I> }
): Durable<Run.Input, Run.RunResult<Output>, AgentError.AgentError> => {
  const output = (options?.output ?? Schema.String) as Schema.Schema<unknown, unknown>
  return durable({
    name: `${Team.isTeam(runnable) ? "team" : "agent"}/${runnable.name}`,
    input: Run.Input,
    // a team's result keeps its leader and members
    success: Run.anyRunResult(output, AgentError.AgentError) as Schema.Schema<Run.RunResult<Output>, unknown>,
    error: AgentError.AgentError,
    execute: (input, runId) => runnable.run(input, { runId })
  }, options)
}

/** What a DAG's nodes fail with by default: an agent's failure, a timeout. */
const NodeError = Schema.Union(AgentError.AgentError, Dag.NodeTimeout, Dag.NodeDefect)

/**
 * @since 0.1.0
 * @category models
 */
export interface DagOptions<I, II> extends Options, Omit<Dag.RunOptions, "runId"> {
  /** The Schema of the DAG's input. */
  readonly input: Schema.Schema<I, II>
  /** The Schema of the nodes' outputs (default: JSON, as is). */
  readonly output?: Schema.Schema<unknown, unknown> | undefined
}

/**
 * A DAG whose runs are durable: the agents and teams its nodes run without
 * an id of their own are named after their node (see `Dag.RunOptions`), so
 * their model and tool calls are recorded and made once, and their
 * approvals wait durably. What a node does besides running agents runs
 * again when the DAG is replayed after a crash: keep it free of side
 * effects, or idempotent. The nodes' outputs are JSON unless `output` gives
 * their Schema; their errors are agents' errors and timeouts unless `error`
 * gives theirs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dag: {
  <I, II, Out, E extends Schema.Schema.Type<typeof NodeError>>(
    dag: Dag.Dag<I, Out, E>,
    options: DagOptions<I, II>
  ): Durable<I, Dag.DagResult<Out, E>, Dag.DefinitionError>
  <I, II, Out, E, EI>(
    dag: Dag.Dag<I, Out, E>,
    options: DagOptions<I, II> & { readonly error: Schema.Schema<E, EI> }
  ): Durable<I, Dag.DagResult<Out, E>, Dag.DefinitionError>
} = <I, II, Out, E>(
  self: Dag.Dag<I, Out, E>,
  options: DagOptions<I, II> & { readonly error?: Schema.Schema<E, unknown> | undefined }
): Durable<I, Dag.DagResult<Out, E>, Dag.DefinitionError> => {
  const error = (options.error ?? NodeError) as Schema.Schema<unknown, unknown>
  const { concurrency, onFailure } = options
  return durable({
    name: `dag/${self.name}`,
    input: options.input,
    // the result's Schema knows node names as strings; the DAG's type knows them by name
    success: Run.dagResult(
      options.output ?? Schema.Unknown,
      Schema.Union(error, Dag.NodeDefect)
    ) as unknown as Schema.Schema<
      Dag.DagResult<Out, E>,
      unknown
    >,
    error: Schema.Union(Dag.DuplicateNode, Dag.UnknownDependency),
    execute: (input, runId) =>
      Dag.run(self as Dag.Dag<I, Out, E>, input, { concurrency, onFailure, runId }) as Effect.Effect<
        Dag.DagResult<Out, E>,
        Dag.DefinitionError
      >
  }, options)
}

/**
 * Another live process of this machine is the single runner of the
 * database: two would both run every run.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunnerBusy extends Schema.TaggedError<RunnerBusy>()("RunnerBusy", {
  host: Schema.String,
  pid: Schema.Number
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `process ${this.pid} on ${this.host} already runs this database's durable runs`
  }
}

const runnerTable = "effect_agents_durable_runner"

/** Whether process `pid` of this machine lives. */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * The database's single runner is this process for the scope: refused while
 * another live process of this machine is; a dead one's place is taken.
 */
const singleProcess = Layer.scopedDiscard(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const me = { host: os.hostname(), pid: process.pid }
  yield* sql`CREATE TABLE IF NOT EXISTS ${
    sql(runnerTable)
  } (id INTEGER PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL)`
  yield* Effect.gen(function*() {
    const [holder] = yield* sql<{ readonly host: string; readonly pid: number }>`
      SELECT host, pid FROM ${sql(runnerTable)} WHERE id = 1`
    if (holder !== undefined && holder.host === me.host && holder.pid !== me.pid && alive(Number(holder.pid))) {
      return yield* new RunnerBusy({ host: holder.host, pid: Number(holder.pid) })
    }
    yield* sql`INSERT INTO ${sql(runnerTable)} (id, host, pid) VALUES (1, ${me.host}, ${me.pid})
      ON CONFLICT (id) DO UPDATE SET host = ${me.host}, pid = ${me.pid}`
  }).pipe(sql.withTransaction)
  yield* Effect.addFinalizer(() =>
    Effect.ignore(sql`DELETE FROM ${sql(runnerTable)} WHERE id = 1 AND pid = ${me.pid} AND host = ${me.host}`)
  )
}))

/**
 * The durable engine in one process: `@effect/cluster`'s workflow engine on
 * a single runner, its state in the `SqlClient` given (a SQLite file, say).
 * One process at a time runs a database's runs: a second live one on the
 * machine is refused (`RunnerBusy`); a dead one's place is taken at once.
 * The runner's address is fixed (`runnerAddress`, default
 * `localhost:34431`): a process that starts again at the same address takes
 * its runs back at once.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSingleRunner = (options?: {
  readonly runnerAddress?: { readonly host: string; readonly port: number } | undefined
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}): Layer.Layer<
  WorkflowEngine.WorkflowEngine,
  ConfigError.ConfigError | RunnerBusy | SqlError,
  SqlClient.SqlClient
> => {
  const address = options?.runnerAddress ?? { host: "localhost", port: 34431 }
  return ClusterWorkflowEngine.layer.pipe(
    Layer.provide(SingleRunner.layer({
      shardingConfig: {
        // never from HOST and PORT, which SingleRunner would read otherwise
        runnerAddress: Option.some(RunnerAddress.make(address.host, address.port)),
        ...options?.shardingConfig
      }
    })),
    Layer.provide(singleProcess)
  )
}

/**
 * A runner of durable runs among several (processes or machines) sharing one
 * Postgres (`@effect/sql-pg`): the runs are spread over the runners, which
 * reach each other at their `runnerAddress` (a host and port of this
 * process, where it listens). A runner that dies (`kill -9`, a lost machine)
 * has its runs taken over by a live one once its shard locks expire: with
 * these settings, in about 5 to 8 seconds (locks held in a table, not as
 * advisory locks, which a frozen runner's connection would keep; refreshed
 * every 2 s, expiring after 6 s). `shardingConfig` overrides any of them.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRunner = (options: {
  readonly runnerAddress: { readonly host: string; readonly port: number }
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}): Layer.Layer<
  WorkflowEngine.WorkflowEngine,
  ConfigError.ConfigError | SocketServer.SocketServerError,
  SqlClient.SqlClient
> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provide(NodeClusterSocket.layer({
      storage: "sql",
      shardingConfig: {
        runnerAddress: Option.some(RunnerAddress.make(options.runnerAddress.host, options.runnerAddress.port)),
        shardLockDisableAdvisory: true,
        shardLockRefreshInterval: Duration.seconds(2),
        shardLockExpiration: Duration.seconds(6),
        refreshAssignmentsInterval: Duration.seconds(1),
        runnerHealthCheckInterval: Duration.seconds(2),
        entityMessagePollInterval: Duration.seconds(1),
        ...options.shardingConfig
      }
    }))
  )

/**
 * The durable runs of an agent server (`"durable": true` on a run request):
 * every agent of the `Registry` gets its workflow, registered with the
 * engine when the layer starts. Give it to `AgentServer.layer` with an
 * engine (`layerSingleRunner` or `layerRunner`). Outputs go on the wire as
 * JSON, as for any run; agents and teams run durably.
 *
 * @example
 * ```ts
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Layer } from "effect"
 * import { AgentServer, type Registry } from "effect-agents/http"
 * import { Durable } from "effect-agents/durable"
 *
 * declare const RegistryLive: Layer.Layer<Registry.Registry>
 *
 * const ServerLive = AgentServer.layer({ port: 8080 }).pipe(
 *   Layer.provide(Durable.layerServed),
 *   Layer.provide(Durable.layerSingleRunner()),
 *   Layer.provide(SqliteClient.layer({ filename: "runs.db" })),
 *   Layer.provide(RegistryLive)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServed: Layer.Layer<
  DurableRuns.DurableRuns,
  SqlError,
  Registry.Registry | WorkflowEngine.WorkflowEngine | SqlClient.SqlClient
> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const registry = yield* Registry.Registry
    const engine = yield* WorkflowEngine.WorkflowEngine
    const durables = new Map<string, Durable<Run.Input, Run.RunResult<unknown>, AgentError.AgentError>>()
    for (const [name, served] of registry.runnables) {
      durables.set(name, make(served.runnable, { output: Schema.Unknown }))
    }
    const service: DurableRuns.Service = {
      run: (name, input, runId) => {
        const durable = durables.get(name)
        if (durable === undefined) return Effect.fail(new DurableNotServed({ reason: `"${name}" is not served` }))
        return Effect.provideService(durable.run(input, { runId }), WorkflowEngine.WorkflowEngine, engine)
      }
    }
    return Layer.mergeAll(
      Layer.succeed(DurableRuns.DurableRuns, service),
      ...Array.from(durables.values(), (durable) => durable.layer)
    )
  })
)
