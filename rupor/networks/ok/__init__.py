"""Odnoklassniki (OK.ru): adapter, wire format and emulator for group topics."""
