/**
 * An `HttpClient` whose answers a unit test scripts, for driving the
 * pipeline's timing with `TestClock`. (Integration tests use the emulator
 * over real loopback HTTP instead.)
 */
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect } from "effect"

export type Answer =
  | { readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  | "refused"
  | "hang"

export interface Scripted {
  readonly client: HttpClient.HttpClient
  /** Requests received, in order. */
  readonly requests: Array<HttpClientRequest.HttpClientRequest>
}

/** Answers the n-th request with `answers[n]`, repeating the last one. */
export const scripted = (...answers: ReadonlyArray<Answer>): Scripted => {
  const requests: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) => {
    const answer = answers[Math.min(requests.length, answers.length - 1)] ?? "hang"
    requests.push(request)
    if (answer === "hang") return Effect.never
    if (answer === "refused") {
      return Effect.fail(
        new HttpClientError.RequestError({ request, reason: "Transport", description: "ECONNREFUSED" }),
      )
    }
    return Effect.succeed(
      HttpClientResponse.fromWeb(
        request,
        new Response(answer.body ?? "", {
          status: answer.status,
          headers: { "content-type": "application/json", ...answer.headers },
        }),
      ),
    )
  })
  return { client, requests }
}

export const jsonAnswer = (status: number, body: unknown, headers?: Record<string, string>): Answer => ({
  status,
  body: JSON.stringify(body),
  ...(headers === undefined ? {} : { headers }),
})
