// Prints the last top-level JSON object of stdin: `serverless invoke local` writes the
// handler's log lines first and its result last, pretty-printed over several lines.
import process from 'node:process';

let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (text += chunk));
process.stdin.on('end', () => {
  const start = text.lastIndexOf('\n{\n') >= 0 ? text.lastIndexOf('\n{\n') + 1 : text.indexOf('{');
  try {
    process.stdout.write(`${JSON.stringify(JSON.parse(text.slice(start)))}\n`);
  } catch {
    process.stderr.write(`no JSON result in the output:\n${text}\n`);
    process.exit(1);
  }
});
