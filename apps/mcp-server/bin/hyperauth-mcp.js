#!/usr/bin/env node
// The bin as installed: it exists before the first build, so that installing links it. The server is the bundle.
import "../dist/hyperauth-mcp.js"
