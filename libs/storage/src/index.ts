export * from './blockStore';
export * from './size';
export * from './flat/flatStore';
export * from './bufferPool';
export { nativeFsError } from './flat/nativeFs';
export * from './lsfs/lsfsStore';
export * from './cache/cachedStore';
export * from './socketReads';
export * from './crc32c';
