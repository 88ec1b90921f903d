package dev.tollgate.tunnel.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CertificateNamesTest {

  @ParameterizedTest
  @CsvSource({
    "one.example.com, one.example.com, true",
    "one.example.com, two.example.com, false",
    "*.example.com, one.example.com, true",
    "*.example.com, example.com, false",
    "*.example.com, a.b.example.com, false",
    "*.example.com, xexample.com, false",
    "*.com, example.com, false",
    "one.example.com, one.example.com.evil, false",
    "*.example.com, .example.com, false",
  })
  void dnsNamesMatchAsBrowsersDo(String pattern, String name, boolean expected) {
    assertEquals(expected, CertificateNames.dnsMatches(pattern, name), pattern + " vs " + name);
  }
}
