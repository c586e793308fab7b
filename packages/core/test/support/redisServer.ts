/** One Redis for the test file that calls it (see `@hyperauth/emulator/redis-server`). */
import { redisAvailable as available, type RedisServer, startRedis } from "@hyperauth/emulator/redis-server"
import { afterAll, beforeAll } from "vitest"

export const redisAvailable = available()

export const useRedis = (): { readonly current: RedisServer } => {
  const holder: { current: RedisServer | undefined } = { current: undefined }
  beforeAll(async () => {
    if (redisAvailable) holder.current = await startRedis()
  }, 20_000)
  afterAll(async () => {
    await holder.current?.stop()
  })
  return {
    get current() {
      if (holder.current === undefined) throw new Error("redis-server has not started")
      return holder.current
    },
  }
}
