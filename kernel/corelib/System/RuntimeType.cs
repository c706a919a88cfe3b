namespace System
{
    /// <summary>The JIT asks for this class by name when it reasons about type handles; no
    /// instance exists freestanding.</summary>
    internal sealed class RuntimeType : Type
    {
    }
}
