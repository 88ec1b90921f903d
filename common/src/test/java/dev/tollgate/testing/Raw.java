package dev.tollgate.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A blocking raw-socket client for tests that must send exactly the bytes they mean. */
public final class Raw implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  public Raw(int port) throws IOException {
    this(connect(port));
  }

  /** Over a socket already connected (a TLS one, say). */
  public Raw(Socket connected) throws IOException {
    socket = connected;
    socket.setSoTimeout(10_000);
    in = socket.getInputStream();
    out = socket.getOutputStream();
  }

  private static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    return s;
  }

  public Raw send(String text) throws IOException {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  public Raw send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  public Raw timeout(int millis) throws IOException {
    socket.setSoTimeout(millis);
    return this;
  }

  /** Reads a response head (through the empty line); empty when the connection closed first. */
  public String readHead() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      b.write(c);
      state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : (c == '\r' ? 1 : 0);
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  /** Reads exactly {@code n} bytes, or fewer when the connection closes. */
  public byte[] readN(int n) throws IOException {
    return in.readNBytes(n);
  }

  /** Reads until the peer closes; fails the test (timeout) when it never does. */
  public String readToClose() throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
  }

  /** Whether the peer closed (EOF or reset) within the socket timeout, after discarding what it sent. */
  public boolean closedByPeer() throws IOException {
    try {
      byte[] buf = new byte[8192];
      while (in.read(buf) >= 0) {
        // discard
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  public InputStream in() {
    return in;
  }

  public OutputStream out() {
    return out;
  }

  public Socket socket() {
    return socket;
  }

  /** The status code of a response head, or -1. */
  public static int status(String head) {
    if (!head.startsWith("HTTP/1.")) {
      return -1;
    }
    return Integer.parseInt(head.substring(9, 12));
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
