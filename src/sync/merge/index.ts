export { mergeRecord, type MergeConflict, type MergeField, type MergeInput, type MergeResult, type Side } from './merge-record.ts';
