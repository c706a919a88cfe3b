namespace System.Runtime.CompilerServices
{
    /// <summary>Language features the compiler may use with this corelib (it checks these names).</summary>
    public static class RuntimeFeature
    {
        /// <summary><c>ref</c> fields (Span).</summary>
        public const string ByRefFields = nameof(ByRefFields);
        /// <summary>nint/nuint are IntPtr/UIntPtr with full arithmetic.</summary>
        public const string NumericIntPtr = nameof(NumericIntPtr);
        /// <summary>Static abstract/virtual interface members.</summary>
        public const string VirtualStaticsInInterfaces = nameof(VirtualStaticsInInterfaces);
        /// <summary>Default interface method bodies.</summary>
        public const string DefaultImplementationsOfInterfaces = nameof(DefaultImplementationsOfInterfaces);
        /// <summary>Calling conventions on unmanaged function pointers.</summary>
        public const string UnmanagedSignatureCallingConvention = nameof(UnmanagedSignatureCallingConvention);
        /// <summary><c>allows ref struct</c> anti-constraint.</summary>
        public const string ByRefLikeGenerics = nameof(ByRefLikeGenerics);
    }
}
