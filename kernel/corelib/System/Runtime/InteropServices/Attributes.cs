namespace System.Runtime.InteropServices
{
    /// <summary>How the fields of a type are laid out.</summary>
    public enum LayoutKind
    {
        Sequential = 0,
        Explicit = 2,
        Auto = 3,
    }

    /// <summary>Character set of a type (kept for source compatibility).</summary>
    public enum CharSet
    {
        None = 1,
        Ansi = 2,
        Unicode = 3,
        Auto = 4,
    }

    /// <summary>Field layout of a class or struct.</summary>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
    public sealed class StructLayoutAttribute : Attribute
    {
        public StructLayoutAttribute(LayoutKind layoutKind) { Value = layoutKind; }
        public LayoutKind Value { get; }
        public int Pack;
        public int Size;
        public CharSet CharSet;
    }

    /// <summary>Byte offset of a field in an explicit layout.</summary>
    [AttributeUsage(AttributeTargets.Field, Inherited = false)]
    public sealed class FieldOffsetAttribute : Attribute
    {
        public FieldOffsetAttribute(int offset) { Value = offset; }
        public int Value { get; }
    }

    /// <summary>Modifier on <c>in</c> parameters of virtual methods and function pointers.</summary>
    [AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
    public sealed class InAttribute : Attribute
    {
    }

    /// <summary>Modifier on <c>out</c> parameters.</summary>
    [AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
    public sealed class OutAttribute : Attribute
    {
    }

    /// <summary>A static method callable from native code (no managed caller).</summary>
    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    public sealed class UnmanagedCallersOnlyAttribute : Attribute
    {
        public Type[] CallConvs;
        public string EntryPoint;
    }
}
