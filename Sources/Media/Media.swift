import CFFmpeg
/// Media module. See docs/architecture.md for what it owns.
public enum MediaModule {}
