import * as compose from '@berth/compose';
import { PROJECT_LABEL, SERVICE_LABEL } from './labels';

it("names compose's labels as @berth/compose does", () => {
  expect([PROJECT_LABEL, SERVICE_LABEL]).toEqual([compose.PROJECT_LABEL, compose.SERVICE_LABEL]);
});
