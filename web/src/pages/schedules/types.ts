/** The schedules API's shapes, from the generated schema. */
import type { components } from '../../api/schema.gen'

export type ScheduleIn = components['schemas']['ScheduleIn']
export type SchedulePatch = components['schemas']['SchedulePatch']
export type ScheduleOut = components['schemas']['ScheduleOut']
export type TickOut = components['schemas']['TickOut']
export type Preview = components['schemas']['CronPreviewOut']
export type MisfirePolicy = ScheduleOut['misfire_policy']
export type OverlapPolicy = ScheduleOut['overlap']
