export * from './hostConfig';
export * from './targetHost';
