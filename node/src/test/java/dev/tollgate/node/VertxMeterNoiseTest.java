package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.spi.FilterReply;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class VertxMeterNoiseTest {
  private static final String MESSAGE =
      "This Gauge has been already registered (MeterId{name='%s', tags=[tag(node=n1)]}), the registration will be ignored.";

  @Test
  void dropsOnlyTheVertxEventBusGaugeWarning() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    VertxMeterNoise filter = new VertxMeterNoise();
    var registryLogger = context.getLogger("io.micrometer.core.instrument.MeterRegistry");
    assertEquals(FilterReply.DENY, filter.decide(null, registryLogger, Level.WARN, MESSAGE.formatted("vertx.eventbus.handlers"), null, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, registryLogger, Level.WARN, MESSAGE.formatted("tollgate.tunnels.active"), null, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, context.getLogger("dev.tollgate.x"), Level.WARN, MESSAGE.formatted("vertx.eventbus.handlers"), null, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, registryLogger, Level.ERROR, "something else", null, null));
  }

  @Test
  void aNodesMetricsWithSeveralConsumersLogNoWarning() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    assertTrue(context.getTurboFilterList().stream().anyMatch(f -> f instanceof VertxMeterNoise), "the test logback configuration installs the filter");
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    var root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(seen);
    NodeMetrics metrics = new NodeMetrics("n1");
    Vertx vertx = Vertx.builder().with(new io.vertx.core.VertxOptions().setMetricsOptions(metrics.vertxOptions())).withMetrics(metrics.vertxFactory()).build();
    try {
      List<MessageConsumer<Object>> consumers = List.of(vertx.eventBus().consumer("a", m -> {}), vertx.eventBus().consumer("b", m -> {}), vertx.eventBus().consumer("a", m -> {}));
      consumers.forEach(c -> dev.tollgate.testing.Await.result(c.completion()));
      assertTrue(metrics.scrape().contains("vertx_eventbus_handlers"), "the gauge is there");
      List<ILoggingEvent> warnings = seen.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
      assertEquals(List.of(), warnings.stream().map(ILoggingEvent::getFormattedMessage).toList());
    } finally {
      root.detachAppender(seen);
      dev.tollgate.testing.Await.result(vertx.close());
    }
  }
}
