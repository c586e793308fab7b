// Placeholder for root scripts whose issues have not landed yet.
const what = process.argv[2] ?? "this script"
process.stderr.write(`hyperauth: \`${what}\` is not available yet; it arrives with its issue.\n`)
