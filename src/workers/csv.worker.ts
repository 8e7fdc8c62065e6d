/** Worker entry: parses CSV text for readCsv (src/modules/contacts/csv.ts), off the event loop. */
import { type ParseResult, type ParseTask, parseTask } from '../modules/contacts/csv.js';
import { serve } from './serve.js';

serve<ParseTask, ParseResult>(parseTask);
