#!/usr/bin/env node
// The bin as installed: it exists before the first build, so that installing links it.
import "../dist/bin.js"
