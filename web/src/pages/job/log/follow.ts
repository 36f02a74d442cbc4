/**
 * Whether the log follows new lines. It follows while the view is at the end; scrolling up
 * stops it (and shows "Jump to end"); scrolling back to the end, or the button, resumes it.
 */

/** How close to the end (px) still counts as "at the end". */
export const AT_END_SLACK = 24

export interface ScrollPosition {
  scrollTop: number
  scrollHeight: number
  clientHeight: number
}

export function atEnd({ scrollTop, scrollHeight, clientHeight }: ScrollPosition, slack = AT_END_SLACK): boolean {
  return scrollHeight - scrollTop - clientHeight <= slack
}

/**
 * Following after a scroll event: on at the end; off when the user moved up (content growing
 * below, or our own jump to the end, never moves the view up, so that is always the user).
 */
export function followAfterScroll(following: boolean, previousTop: number, now: ScrollPosition): boolean {
  if (atEnd(now)) return true
  if (now.scrollTop < previousTop) return false
  return following
}
