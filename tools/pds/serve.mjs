// Starts an in-memory PLC directory and a reference Bluesky PDS (npm @atproto/pds) on the
// given ports, for Rupor's interop test.
// Usage: node serve.mjs <installDir> <plcPort> <pdsPort> <dataDir> (installDir: what setup.sh printed)
// Prints "ready" on stdout once both listen; stops on SIGTERM.
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [installDir, plcPort, pdsPort, dataDir] = process.argv.slice(2)
const require = createRequire(path.join(installDir, 'package.json'))
const plc = require('@did-plc/server')
const pdsModule = await import(pathToFileURL(require.resolve('@atproto/pds')).href)
const { PDS, envToCfg, envToSecrets, readEnv } = pdsModule

const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: Number(plcPort) })
await plcServer.start()

const env = {
  ...readEnv(),
  port: Number(pdsPort),
  hostname: 'localhost',
  dataDirectory: dataDir,
  blobstoreDiskLocation: `${dataDir}/blobs`,
  didPlcUrl: `http://localhost:${plcPort}`,
  jwtSecret: crypto.randomBytes(16).toString('hex'),
  adminPassword: 'admin-pass',
  plcRotationKeyK256PrivateKeyHex: crypto.randomBytes(32).toString('hex'),
  inviteRequired: false,
  devMode: true,
  serviceHandleDomains: ['.test'],
  rateLimitsEnabled: false,
  disableSsrfProtection: true,
  crawlers: [],
}
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()
console.log('ready')
const stop = async () => {
  await pds.destroy()
  await plcServer.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
