// The importance file's name and format tag (issue 4 item 7); the reader lives with the pruner.
export { IMPORTANCE_FILE, IMPORTANCE_FORMAT } from '../prune/importance';
