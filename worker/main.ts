import { runPart } from '../lib/main';

runPart('worker');
