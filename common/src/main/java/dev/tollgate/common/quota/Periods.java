package dev.tollgate.common.quota;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;

/**
 * The current quota periods: a UTC calendar day and a UTC calendar month, with their ids
 * ({@code d2026-11-29}, {@code m2026-11}) and the instants they end.
 *
 * <p>Calendar periods rather than rolling windows: a user and an operator can both say when a
 * quota comes back ("at midnight UTC", "on the 1st"), the {@code Retry-After} is exact, and each
 * period is one counter per user and node, where a rolling window needs a series of buckets per
 * user and still only approximates its edge.
 *
 * @param dayStart the day's first millisecond (epoch millis)
 * @param dayEnd the next day's first millisecond
 * @param monthStart the month's first millisecond
 * @param monthEnd the next month's first millisecond
 */
public record Periods(String day, long dayStart, long dayEnd, String month, long monthStart, long monthEnd) {

  /** The periods {@code epochMillis} falls in. */
  public static Periods at(long epochMillis) {
    LocalDate date = LocalDate.ofInstant(Instant.ofEpochMilli(epochMillis), ZoneOffset.UTC);
    LocalDate firstOfMonth = date.withDayOfMonth(1);
    return new Periods(
        "d" + date,
        millis(date),
        millis(date.plusDays(1)),
        "m" + firstOfMonth.toString().substring(0, 7),
        millis(firstOfMonth),
        millis(firstOfMonth.plusMonths(1)));
  }

  /** Whether {@code epochMillis} still falls in this day. */
  public boolean contains(long epochMillis) {
    return epochMillis >= dayStart && epochMillis < dayEnd;
  }

  /** Whether {@code id} is this day's or this month's id. */
  public boolean isCurrent(String id) {
    return day.equals(id) || month.equals(id);
  }

  /** Whole seconds from {@code epochMillis} to the end of the day (at least 1). */
  public long secondsToDayEnd(long epochMillis) {
    return Math.max(1, (dayEnd - epochMillis + 999) / 1000);
  }

  /** Whole seconds from {@code epochMillis} to the end of the month (at least 1). */
  public long secondsToMonthEnd(long epochMillis) {
    return Math.max(1, (monthEnd - epochMillis + 999) / 1000);
  }

  private static long millis(LocalDate d) {
    return d.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
  }
}
