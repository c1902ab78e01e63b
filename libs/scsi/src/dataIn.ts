import { ScsiTask } from './task';

/**
 * Returns parameter data for a command with an ALLOCATION LENGTH: SPC-4 4.2.5.6 says the device
 * server sends at most that many bytes and that a shorter allocation length is not an error, so
 * dataInLength is capped by it (no residual overflow is reported for truncated parameter data).
 */
export function returnData(task: ScsiTask, data: Buffer, allocationLength: number): void {
  task.dataIn = data;
  task.dataInPooled = false;
  task.dataInLength = Math.min(data.length, allocationLength);
}
