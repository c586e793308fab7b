/** Every tool, in the order clients list them. */
import type { Tool } from "../tool.js"
import { callApi } from "./call-api.js"
import { completeLogin } from "./complete-login.js"
import { getToken } from "./get-token.js"
import { introspectToken } from "./introspect-token.js"
import { listProviders } from "./list-providers.js"
import { login } from "./login.js"
import { logout } from "./logout.js"
import { refreshToken } from "./refresh-token.js"

export const tools: ReadonlyArray<Tool> = [
  listProviders,
  login,
  completeLogin,
  getToken,
  refreshToken,
  introspectToken,
  logout,
  callApi,
]
