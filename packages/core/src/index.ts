/**
 * @since 0.1.0
 */

export * as Accounts from "./Accounts.js"
export * as ApiClient from "./ApiClient.js"
export * as AuthorizationCode from "./AuthorizationCode.js"
export * as AuthorizedClient from "./AuthorizedClient.js"
export * as DeviceFlow from "./DeviceFlow.js"
export * as Hyper from "./Hyper.js"
export * as HyperId from "./HyperId.js"
export * as Hyperline from "./Hyperline.js"
export * as Hyperproof from "./Hyperproof.js"
export * as Introspection from "./Introspection.js"
export * as NodeHttpTransport from "./NodeHttpTransport.js"
export * as OAuthError from "./OAuthError.js"
export * as Provider from "./Provider.js"
export * as Settings from "./Settings.js"
export * as Token from "./Token.js"
export * as TokenStore from "./TokenStore.js"
