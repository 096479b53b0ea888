import { runPart } from '../lib/main';

runPart('api');
