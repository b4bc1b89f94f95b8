/**
 * Durable runs on two runner processes sharing a Postgres: twenty runs
 * spread over both, one runner killed (SIGKILL) while it has runs in
 * flight; the other takes them over and every run completes. The time from
 * the kill to the last run's end is printed.
 */
import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Ref, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe } from "vitest"
import * as PgTest from "./fixtures/postgres.js"

const runner = (url: string, port: number, log: string, ...submit: ReadonlyArray<string>) =>
  Command.make(
    process.execPath,
    "--conditions=source",
    "--import",
    "tsx",
    "test/fixtures/durableRunner.ts",
    url,
    String(port),
    log,
    ...submit
  )

describe.skipIf(PgTest.server._tag === "Unavailable")("Durable runs on Postgres runners", () => {
  it.scopedLive(
    "twenty runs over two runners; one is killed, the other takes its runs over",
    () =>
      Effect.gen(function*() {
        const url = yield* PgTest.database
        const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-runners-")), "log")
        fs.writeFileSync(log, "")
        // below Linux's ephemeral range (32768-60999), where the other tests' servers and connections take ports
        const port = 20000 + 2 * Math.floor(Math.random() * 5000)
        const doomed = yield* Command.start(runner(url, port, log))
        const survivor = yield* Command.start(runner(url, port + 1, log, "submit", "20"))
        const done = yield* Ref.make<ReadonlyArray<string>>([])
        const allDone = yield* Deferred.make<void>()
        yield* survivor.stdout.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEach((line) =>
            line === "all done"
              ? Deferred.succeed(allDone, undefined)
              : line.startsWith("done ")
              ? Ref.update(done, (lines) => [...lines, line.slice(5)])
              : Effect.void
          ),
          Effect.forkScoped
        )
        // the doomed runner is at work on some runs: kill it there
        const doomedPid = String(doomed.pid)
        yield* Effect.sync(() => fs.readFileSync(log, "utf8").includes(` ${doomedPid}\n`)).pipe(
          Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (working) => working }),
          // a busy machine (the rest of the suite beside it) may be slow to give the runners their shards
          Effect.timeout("150 seconds")
        )
        yield* doomed.kill("SIGKILL")
        const killedAt = yield* Clock.currentTimeMillis
        const before = (yield* Ref.get(done)).length
        yield* Deferred.await(allDone).pipe(Effect.timeout("240 seconds"))
        const takeover = ((yield* Clock.currentTimeMillis) - killedAt) / 1000
        const finished = yield* Ref.get(done)
        expect([...finished].sort()).toEqual(
          Array.from({ length: 20 }, (_, i) => `run-${i} finished`).sort()
        )
        expect(before).toBeLessThan(20)
        const byRun = new Map<string, Set<string>>()
        for (const line of fs.readFileSync(log, "utf8").trim().split("\n")) {
          const [run, pid] = line.split(" ")
          byRun.set(run!, (byRun.get(run!) ?? new Set()).add(pid!))
        }
        // some run was begun by the killed runner and finished by the other
        expect([...byRun.values()].some((pids) => pids.size === 2)).toBe(true)
        console.log(
          `durable runners on Postgres: ${20 - before} runs left at the kill, all done ${
            takeover.toFixed(1)
          } s after it`
        )
      }).pipe(Effect.provide(NodeContext.layer)),
    420_000
  )
})
