/** TEST UNIT READY (SPC-4 6.47): a LU with a store is always ready; unit attentions were reported before. */
import { LogicalUnit } from './logicalUnit';
import { ScsiTask } from './task';

export function testUnitReady(_lu: LogicalUnit, _task: ScsiTask): void {
  // GOOD
}
