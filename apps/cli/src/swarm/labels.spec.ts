import * as compose from '@berth/compose';
import { MODE_ANNOTATION, PROJECT_LABEL, SERVICE_LABEL, UPDATE_FAILURE_ACTION_ANNOTATION } from './labels';

it("names compose's labels and annotations as @berth/compose does", () => {
  expect([PROJECT_LABEL, SERVICE_LABEL, UPDATE_FAILURE_ACTION_ANNOTATION, MODE_ANNOTATION]).toEqual([
    compose.PROJECT_LABEL,
    compose.SERVICE_LABEL,
    compose.UPDATE_FAILURE_ACTION_ANNOTATION,
    compose.MODE_ANNOTATION,
  ]);
});
