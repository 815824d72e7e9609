/// TerminalGraphics module. See docs/architecture.md for what it owns.
public enum TerminalGraphicsModule {}
