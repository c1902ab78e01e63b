export * from './hostConfig';
export * from './targetHost';
export * from './luStats';
