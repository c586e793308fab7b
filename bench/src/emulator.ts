/**
 * The bench's handle on the emulator it runs in another process
 * (`./emulatorProcess.ts`): its origins and environment, and the counts the
 * bench checks, asked over IPC.
 */
import { fork } from "node:child_process"
import { createInterface } from "node:readline"
import type { LoggedRequest, Origins } from "@hyperauth/emulator"
import type { Question } from "./emulatorProcess.js"

export interface RemoteEmulator {
  readonly origins: Origins
  readonly env: Readonly<Record<string, string>>
  readonly pid: number | undefined
  /** Requests the emulator logged that match `filter`. */
  readonly count: (filter: Partial<LoggedRequest>) => Promise<number>
  /** The user approves a hyperid authorization URL; the redirect back, with its code. */
  readonly authorizeHyperId: (url: string) => Promise<string>
  /** Requests that arrived with a `traceparent`, `b3` or like header, one line each. */
  readonly traced: () => Promise<ReadonlyArray<string>>
  readonly close: () => Promise<void>
}

type Ask = { [Op in Question["op"]]: Omit<Extract<Question, { op: Op }>, "id"> }[Question["op"]]

export const spawnEmulator = async (): Promise<RemoteEmulator> => {
  const child = fork(new URL("./emulatorProcess.js", import.meta.url), [], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const started = await new Promise<{ origins: Origins; env: Record<string, string> }>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the emulator process exited (${code}) before it listened`)))
    if (child.stdout === null) return reject(new Error("the emulator process has no stdout"))
    createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line)))
  })

  let next = 0
  const waiting = new Map<number, (value: unknown) => void>()
  child.on("message", (message: { id: number; value: unknown }) => {
    waiting.get(message.id)?.(message.value)
    waiting.delete(message.id)
  })
  const ask = (question: Ask): Promise<unknown> =>
    new Promise((resolve) => {
      const id = next++
      waiting.set(id, resolve)
      child.send({ ...question, id })
    })

  return {
    ...started,
    pid: child.pid,
    count: async (filter) => Number(await ask({ op: "count", filter })),
    authorizeHyperId: async (url) => String(await ask({ op: "authorizeHyperId", url })),
    traced: async () => {
      const lines = await ask({ op: "traced" })
      return Array.isArray(lines) ? lines.map(String) : []
    },
    close: async () => {
      child.disconnect()
      await exited
    },
  }
}
