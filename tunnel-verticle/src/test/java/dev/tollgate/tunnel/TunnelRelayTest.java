package dev.tollgate.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.limits.TokenBucket;
import dev.tollgate.testing.Await;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay between two TCP sockets: Netty's buffers go from one channel to the other as read,
 * after whatever Vert.x had queued as buffers; bytes arrive whole and in order with a slow
 * reader, shaping, a source paused before the tunnel opened, and a source that closes while the
 * relay is paused.
 */
class TunnelRelayTest {
  private static final int MIB = 1024 * 1024;

  Vertx vertx;
  NetClient dialer;
  TunnelRegistry registry;
  ServerSocket upstream;
  NetServer front;
  final CompletableFuture<Tunnel> tunnel = new CompletableFuture<>();

  @BeforeEach
  void start() throws IOException {
    vertx = Vertx.vertx();
    dialer = vertx.createNetClient();
    registry = new TunnelRegistry("t");
    upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
  }

  @AfterEach
  void stop() throws IOException {
    upstream.close();
    Await.result(vertx.close());
  }

  /** A client of a new {@link #front}. */
  private Socket client(long delayMillis, TunnelOwner owner) throws IOException {
    return client(delayMillis, owner, 0);
  }

  /** A client of a new {@link #front}, with a small receive window when {@code receiveBuffer > 0}. */
  private Socket client(long delayMillis, TunnelOwner owner, int receiveBuffer) throws IOException {
    Socket s = new Socket();
    if (receiveBuffer > 0) {
      s.setReceiveBufferSize(receiveBuffer); // before connecting, so the window is small from the start
    }
    s.setSoTimeout(30_000); // a relay that loses the end fails the test instead of hanging it
    s.connect(new InetSocketAddress("127.0.0.1", front(delayMillis, owner)));
    return s;
  }

  /**
   * A front that takes a client, pauses it (a socket without a handler drops what it reads),
   * waits {@code delayMillis}, dials the upstream from the client's context and opens a tunnel
   * between the two.
   */
  private int front(long delayMillis, TunnelOwner owner) {
    front = vertx.createNetServer().connectHandler(client -> {
      client.pause();
      Context context = Vertx.currentContext();
      Promise<Void> waited = Promise.promise();
      vertx.setTimer(Math.max(1, delayMillis), t -> waited.complete());
      waited.future()
          .compose(v -> dialer.connect(upstream.getLocalPort(), "127.0.0.1"))
          .onSuccess(up -> tunnel.complete(registry.open(context, "client", target(), client, up, owner)))
          .onFailure(tunnel::completeExceptionally);
    });
    return Await.result(front.listen(0, "127.0.0.1")).actualPort();
  }

  private Target target() {
    return new Target("127.0.0.1", upstream.getLocalPort(), InetAddress.getLoopbackAddress());
  }

  private static byte[] pattern(int length, int seed) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) (i * 31 + seed + (i >>> 13));
    }
    return b;
  }

  private static byte[] readAll(InputStream in, int pauseEvery, long pauseMillis) throws IOException, InterruptedException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] chunk = new byte[16 * 1024];
    int n;
    int reads = 0;
    while ((n = in.read(chunk)) >= 0) {
      all.write(chunk, 0, n);
      if (pauseEvery > 0 && ++reads % pauseEvery == 0) {
        Thread.sleep(pauseMillis);
      }
    }
    return all.toByteArray();
  }

  /**
   * The upstream side, on a thread of its own: reads {@code expect} bytes (or to EOF when
   * negative), then sends {@code send} and closes; returns what it read. (A tunnel ends when either
   * side closes, as Vert.x does not keep half-closed sockets, so it sends only after reading.)
   */
  private CompletableFuture<byte[]> upstreamReadsThenSends(int expect, byte[] send) {
    return CompletableFuture.supplyAsync(() -> {
      try (Socket s = upstream.accept()) {
        s.setSoTimeout(30_000);
        byte[] read = expect < 0 ? readAll(s.getInputStream(), 0, 0) : s.getInputStream().readNBytes(expect);
        s.getOutputStream().write(send);
        return read;
      } catch (IOException | InterruptedException e) {
        throw new RuntimeException(e);
      }
    });
  }

  @Test
  void bothDirectionsMoveChannelBuffersAndArriveWhole() throws Exception {
    byte[] up = pattern(8 * MIB, 1);
    byte[] down = pattern(8 * MIB, 2);
    CompletableFuture<byte[]> atUpstream = upstreamReadsThenSends(up.length, down);
    try (Socket client = client(0, TunnelOwner.NONE)) {
      CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
        try {
          client.getOutputStream().write(up);
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      Tunnel t = tunnel.get(10, TimeUnit.SECONDS);
      byte[] received = readAll(client.getInputStream(), 0, 0);
      sent.get(30, TimeUnit.SECONDS);
      assertArrayEquals(down, received);
      assertTrue(t.movesChannelBuffers(), "both pumps moved Netty's buffers");
      assertArrayEquals(up, atUpstream.get(30, TimeUnit.SECONDS));
      assertEquals("upstream closed", Await.result(t.closed()));
      assertEquals(8L * MIB, t.info().bytesUp());
      assertEquals(8L * MIB, t.info().bytesDown());
    }
  }

  @Test
  void aSlowReaderGetsEverythingOfAnUpstreamThatClosedLongBefore() throws Exception {
    byte[] down = pattern(16 * MIB, 3);
    CompletableFuture<byte[]> atUpstream = upstreamReadsThenSends(0, down);
    try (Socket client = client(0, TunnelOwner.NONE, 16 * 1024)) {
      Tunnel t = tunnel.get(10, TimeUnit.SECONDS);
      byte[] received = readAll(client.getInputStream(), 8, 5); // EOF: the tunnel closed the client
      assertArrayEquals(down, received);
      assertEquals("upstream closed", Await.result(t.closed()));
      assertEquals(16L * MIB, t.info().bytesDown());
      assertEquals(0, atUpstream.get(30, TimeUnit.SECONDS).length);
    }
  }

  @Test
  void anUpstreamThatClosesWhileTheRelayIsPausedIsDeliveredWhole() throws Exception {
    // The upstream writes 64 KiB and closes at once, so the relay reads it all and the close in
    // one go; a small byte bucket pauses the relay after the first buffer, with the rest and the
    // close held behind the pause. The tunnel must end only after that rest was relayed.
    shapedDownload(64 * 1024, 128 * 1024, 1024);
  }

  /** The upstream sends {@code length} bytes and closes; the tunnel's bucket shapes them. */
  private void shapedDownload(int length, double bytesPerSecond, double burst) throws Exception {
    byte[] down = pattern(length, length);
    CompletableFuture<byte[]> atUpstream = upstreamReadsThenSends(0, down);
    TokenBucket bucket = new TokenBucket(bytesPerSecond, burst, System.nanoTime());
    try (Socket client = client(0, new TunnelOwner("u", bucket, () -> {}))) {
      Tunnel t = tunnel.get(10, TimeUnit.SECONDS);
      assertArrayEquals(down, readAll(client.getInputStream(), 0, 0));
      assertEquals("upstream closed", Await.result(t.closed()));
      atUpstream.get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void bytesQueuedWhileTheClientWasPausedGoFirst() throws Exception {
    byte[] early = pattern(2 * MIB, 4);
    byte[] late = pattern(2 * MIB, 5);
    CompletableFuture<byte[]> atUpstream = upstreamReadsThenSends(-1, new byte[0]);
    try (Socket client = client(300, TunnelOwner.NONE)) {
      CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
        try {
          client.getOutputStream().write(early); // queued in Vert.x and the kernel before the tunnel
          tunnel.get(10, TimeUnit.SECONDS);
          client.getOutputStream().write(late);
          client.shutdownOutput();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      Tunnel t = tunnel.get(10, TimeUnit.SECONDS);
      sent.get(30, TimeUnit.SECONDS);
      byte[] both = new byte[early.length + late.length];
      System.arraycopy(early, 0, both, 0, early.length);
      System.arraycopy(late, 0, both, early.length, late.length);
      assertArrayEquals(both, atUpstream.get(30, TimeUnit.SECONDS));
      assertEquals("client closed", Await.result(t.closed()));
      assertEquals((long) both.length, t.info().bytesUp());
      assertTrue(t.movesChannelBuffers(), "the pumps went over to Netty's buffers after the queued ones");
    }
  }

  @Test
  void aShapedTunnelDeliversEverything() throws Exception {
    shapedDownload(3 * MIB, 8 * MIB, 256 * 1024);
  }

  /**
   * The upstream, on a thread of its own: once the tunnel moves Netty's buffers, sends {@code
   * down} (blocking while nobody reads the client side), then reads to EOF; a kill ends it.
   */
  private CompletableFuture<Void> upstreamSendsOnceRaw(byte[] down) {
    return CompletableFuture.runAsync(() -> {
      try (Socket s = upstream.accept()) {
        Tunnel t = tunnel.get(10, TimeUnit.SECONDS);
        awaitTrue(t::movesChannelBuffers, "the pumps moved over to Netty's buffers");
        s.getOutputStream().write(down);
        readAll(s.getInputStream(), 0, 0);
      } catch (IOException closedByTheKill) {
        // expected
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
  }

  @Test
  void aTunnelKilledWhilePausedEndsAfterTheClientTookWhatWasSentToIt() throws Exception {
    byte[] down = pattern(16 * MIB, 7);
    CompletableFuture<Void> upstreamDone = upstreamSendsOnceRaw(down);
    try (Socket client = client(0, TunnelOwner.NONE, 16 * 1024)) {
      Tunnel t = tunnel.get(10, TimeUnit.SECONDS);
      awaitTrue(() -> t.info().bytesDown() > 64 * 1024, "the relay moved a first 64 KiB, then paused on the client");
      t.close("killed");
      byte[] received = readAll(client.getInputStream(), 0, 0);
      assertEquals("killed", Await.result(t.closed()));
      assertTrue(received.length >= 64 * 1024 && received.length < down.length, received.length + " bytes");
      assertArrayEquals(java.util.Arrays.copyOf(down, received.length), received, "a prefix, whole");
      awaitTrue(() -> registry.size() == 0, "the registry forgot the tunnel");
      upstreamDone.get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aTunnelKilledWhileItsClientReadsNothingIsCutAfterTheGrace() throws Exception {
    CompletableFuture<Void> upstreamDone = upstreamSendsOnceRaw(pattern(16 * MIB, 9));
    try (Socket client = client(0, TunnelOwner.NONE, 16 * 1024)) {
      Tunnel t = tunnel.get(10, TimeUnit.SECONDS);
      long moved = -1;
      while (moved != t.info().bytesDown()) { // until the kernel's buffers and the relay's queue are full
        moved = t.info().bytesDown();
        Thread.sleep(300);
      }
      assertTrue(moved < 16 * MIB, "the relay is paused on the client: " + moved);
      t.close("killed"); // what is queued for the client can never leave: the grace timer cuts it
      assertEquals("killed", t.closed().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
      // what the relay had read from the upstream but held behind the pause was released
      assertTrue(t.discardedBytes() > 0, "Netty's buffers held at the end were released");
      awaitTrue(() -> registry.size() == 0, "the registry forgot the tunnel");
      upstreamDone.get(30, TimeUnit.SECONDS);
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out: " + what);
      }
      Thread.sleep(10);
    }
  }
}
