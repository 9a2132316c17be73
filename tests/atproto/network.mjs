// Starts the AT Protocol reference network (PLC directory, PDS, AppView) for Payez's tests.
// Prints one JSON line with its addresses, then serves a control endpoint:
// POST /process waits until the AppView has indexed everything the PDS has sequenced, so a test
// reads what it just wrote. Stops on SIGTERM or SIGINT, or when its parent closes stdin.
import http from 'node:http'
import { TestNetwork } from '@atproto/dev-env'

const network = await TestNetwork.create({ dbPostgresSchema: 'payez' })

const control = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/process') {
      await network.processAll()
      res.writeHead(204).end()
    } else {
      res.writeHead(404).end()
    }
  } catch (err) {
    res.writeHead(500).end(String(err))
  }
})
await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve))

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  control.close()
  try {
    await network.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.resume()

console.log(JSON.stringify({
  pds: network.pds.url,
  appview: network.bsky.url,
  plc: network.plc.url,
  control: `http://127.0.0.1:${control.address().port}`,
}))
