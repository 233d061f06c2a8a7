/** Transitional name for `KeynetClient` opened from an API client (kept while callers move to `connect`). */
import type { ApiClient } from '../edges/api/client.ts'
import type { FaultLog } from '../services/content/fault-log.ts'
import { ApiDirectory } from './api-directory.ts'
import { KeynetClient } from './keynet-client.ts'

export const ContentClient = {
  async open (init: { api: ApiClient, faults?: FaultLog }): Promise<KeynetClient> {
    return await KeynetClient.withOwnHost({ directory: new ApiDirectory(init.api), ...(init.faults === undefined ? {} : { faults: init.faults }) })
  }
}
