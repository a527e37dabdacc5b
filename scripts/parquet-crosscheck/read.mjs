// Reads a Parquet file with hyparquet (an independent JavaScript reader)
// and prints its rows as JSON lines, 64-bit integers as decimal strings.
import { asyncBufferFromFile, parquetReadObjects, parquetMetadataAsync } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

const file = await asyncBufferFromFile(process.argv[2])
const meta = await parquetMetadataAsync(file)
process.stderr.write(`hyparquet: ${meta.num_rows} rows, ${meta.row_groups.length} row groups, created_by ${meta.created_by}\n`)
const rows = await parquetReadObjects({ file, compressors })
for (const r of rows) {
  process.stdout.write(JSON.stringify(r, (k, v) => typeof v === 'bigint' ? v.toString() : v) + '\n')
}
