import CKernels
/// MolmoRuntime module. See docs/architecture.md for what it owns.
public enum MolmoRuntimeModule {}
