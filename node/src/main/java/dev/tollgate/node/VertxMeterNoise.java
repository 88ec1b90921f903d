package dev.tollgate.node;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Marker;

/**
 * Drops one known false alarm from the log: Vert.x's Micrometer metrics register the
 * {@code vertx.eventbus.*} gauges again for every event-bus consumer (all consumers share one
 * gauge, since the address label is off), and Micrometer warns about the second registration,
 * although the gauge it keeps reads the same counter. Only that warning is dropped; Micrometer
 * logs its later double-registration notices at DEBUG anyway.
 */
public final class VertxMeterNoise extends TurboFilter {
  private static final String LOGGER = "io.micrometer.core.instrument.MeterRegistry";

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (format != null
        && level == Level.WARN
        && LOGGER.equals(logger.getName())
        && format.contains("has been already registered (MeterId{name='vertx.eventbus.")) {
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }
}
