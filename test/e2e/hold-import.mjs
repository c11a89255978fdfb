// Preloaded with `node --import ./test/e2e/hold-import.mjs`: holds the first import whose specifier
// contains HOLD_IMPORT, so a test can signal the process at that exact moment of its start-up.
// It prints {"held": specifier} on stdout, then blocks the main thread on a read of stdin: a line
// written there releases it. A signal sent meanwhile is caught by Node's native handler at once
// and reaches JavaScript handlers when the event loop next runs, as one arriving mid-start would.
import { Buffer } from 'node:buffer';
import { readSync, writeSync } from 'node:fs';
import { registerHooks } from 'node:module';

const pattern = process.env.HOLD_IMPORT;
let held = false;

function waitForRelease() {
  const byte = Buffer.alloc(1);
  for (;;) {
    let read;
    try {
      read = readSync(0, byte, 0, 1, null);
    } catch (error) {
      if (error.code === 'EAGAIN') continue;
      throw error;
    }
    if (read === 0 || byte[0] === 0x0a) return;
  }
}

if (pattern) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (!held && specifier.includes(pattern)) {
        held = true;
        writeSync(1, `${JSON.stringify({ held: specifier })}\n`);
        waitForRelease();
      }
      return nextResolve(specifier, context);
    },
  });
}
