namespace System.Runtime.CompilerServices
{
    /// <summary>Marks a method ilc or the JIT expands itself.</summary>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Method | AttributeTargets.Constructor | AttributeTargets.Field, Inherited = false)]
    internal sealed class IntrinsicAttribute : Attribute
    {
    }

    /// <summary>Code generation hints for a method.</summary>
    [Flags]
    public enum MethodImplOptions
    {
        Unmanaged = 0x0004,
        NoInlining = 0x0008,
        ForwardRef = 0x0010,
        Synchronized = 0x0020,
        NoOptimization = 0x0040,
        PreserveSig = 0x0080,
        AggressiveInlining = 0x0100,
        AggressiveOptimization = 0x0200,
        InternalCall = 0x1000,
    }

    /// <summary>Applies <see cref="MethodImplOptions"/> to a method.</summary>
    [AttributeUsage(AttributeTargets.Method | AttributeTargets.Constructor, Inherited = false)]
    public sealed class MethodImplAttribute : Attribute
    {
        public MethodImplAttribute(MethodImplOptions methodImplOptions) { Value = methodImplOptions; }
        public MethodImplAttribute(short value) { Value = (MethodImplOptions)value; }
        public MethodImplAttribute() { }
        public MethodImplOptions Value { get; }
    }

    /// <summary>A struct that is <c>Length</c> copies of its single field.</summary>
    [AttributeUsage(AttributeTargets.Struct, AllowMultiple = false)]
    public sealed class InlineArrayAttribute : Attribute
    {
        public InlineArrayAttribute(int length) { Length = length; }
        public int Length { get; }
    }

    /// <summary>Emitted on fixed-size buffer fields.</summary>
    [AttributeUsage(AttributeTargets.Field, Inherited = false)]
    public sealed class FixedBufferAttribute : Attribute
    {
        public FixedBufferAttribute(Type elementType, int length) { Length = length; }
        public int Length { get; }
    }

    /// <summary>Emitted on structs that hold fixed-size buffers.</summary>
    [AttributeUsage(AttributeTargets.Struct)]
    public sealed class UnsafeValueTypeAttribute : Attribute
    {
    }

    /// <summary>Marks extension methods.</summary>
    [AttributeUsage(AttributeTargets.Method | AttributeTargets.Class | AttributeTargets.Assembly)]
    public sealed class ExtensionAttribute : Attribute
    {
    }

    /// <summary>Marks compiler-generated code.</summary>
    [AttributeUsage(AttributeTargets.All, Inherited = true)]
    public sealed class CompilerGeneratedAttribute : Attribute
    {
    }

    /// <summary>Renames an indexer in metadata.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = true)]
    public sealed class IndexerNameAttribute : Attribute
    {
        public IndexerNameAttribute(string indexerName) { }
    }

    /// <summary>Skips zero-initialisation of locals (and stackalloc) in the marked scope.</summary>
    [AttributeUsage(AttributeTargets.Module | AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface | AttributeTargets.Constructor | AttributeTargets.Method | AttributeTargets.Property | AttributeTargets.Event, Inherited = false)]
    public sealed class SkipLocalsInitAttribute : Attribute
    {
    }

    /// <summary>Required modifier on volatile fields.</summary>
    public static class IsVolatile
    {
    }

    /// <summary>Required modifier on <c>init</c> accessors.</summary>
    public static class IsExternalInit
    {
    }

    /// <summary>Emitted by the compiler on types using newer language features.</summary>
    [AttributeUsage(AttributeTargets.All, AllowMultiple = true, Inherited = false)]
    public sealed class CompilerFeatureRequiredAttribute : Attribute
    {
        public CompilerFeatureRequiredAttribute(string featureName) { FeatureName = featureName; }
        public string FeatureName { get; }
        public bool IsOptional { get; set; }
    }

    /// <summary>Marks a ref struct.</summary>
    [AttributeUsage(AttributeTargets.Struct)]
    public sealed class IsByRefLikeAttribute : Attribute
    {
    }

    /// <summary>Marks a readonly struct, readonly member or <c>in</c> parameter.</summary>
    [AttributeUsage(AttributeTargets.All, Inherited = false)]
    public sealed class IsReadOnlyAttribute : Attribute
    {
    }

    /// <summary>Marks an <c>unmanaged</c> constraint.</summary>
    [AttributeUsage(AttributeTargets.All)]
    public sealed class IsUnmanagedAttribute : Attribute
    {
    }

    /// <summary>Marks a <c>scoped</c> parameter.</summary>
    [AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
    public sealed class ScopedRefAttribute : Attribute
    {
    }

    /// <summary>The ref-safety rules version of a module.</summary>
    [AttributeUsage(AttributeTargets.Module, AllowMultiple = false, Inherited = false)]
    public sealed class RefSafetyRulesAttribute : Attribute
    {
        public RefSafetyRulesAttribute(int version) { Version = version; }
        public int Version { get; }
    }

    /// <summary>Marks a <c>ref readonly</c> parameter.</summary>
    [AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
    public sealed class RequiresLocationAttribute : Attribute
    {
    }

    /// <summary>Calling-convention marker for <c>delegate* unmanaged[Cdecl]</c>.</summary>
    public class CallConvCdecl
    {
    }

    /// <summary>Calling-convention marker for <c>delegate* unmanaged[Stdcall]</c>.</summary>
    public class CallConvStdcall
    {
    }

    /// <summary>Calling-convention marker for <c>delegate* unmanaged[SuppressGCTransition]</c>.</summary>
    public class CallConvSuppressGCTransition
    {
    }
}
