// Reads a Parquet file with hyparquet (an independent, pure JavaScript implementation) and prints
// {"columns": [{"name", "type", "logical"}...], "rows": [{...}]} as JSON. Values keep their full
// precision: 64-bit integers as decimal strings, timestamps as "us:<microseconds since epoch>",
// dates as "days:<days since epoch>".
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet'

const path = process.argv[2]
const file = await asyncBufferFromFile(path)
const metadata = await parquetMetadataAsync(file)
const schema = parquetSchema(metadata)
const columns = schema.children.map(c => ({
  name: c.element.name,
  type: c.element.type,
  logical: c.element.logical_type?.type ?? c.element.converted_type ?? null,
  optional: c.element.repetition_type === 'OPTIONAL',
}))
const rows = await parquetReadObjects({
  file,
  metadata,
  parsers: {
    timestampFromMicroseconds: v => 'us:' + v.toString(),
    dateFromDays: v => 'days:' + v,
  },
})
const replacer = (_, v) => (typeof v === 'bigint' ? v.toString() : v)
process.stdout.write(JSON.stringify({ columns, rows }, replacer))
