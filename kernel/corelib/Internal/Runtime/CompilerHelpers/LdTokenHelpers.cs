using System;

namespace Internal.Runtime.CompilerHelpers
{
    /// <summary>ldtoken helpers ilc binds by name. Handles are the raw MethodTable / method / field
    /// pointers; there are no Type objects freestanding.</summary>
    internal static unsafe class LdTokenHelpers
    {
        private static RuntimeTypeHandle GetRuntimeTypeHandle(nint pEEType) => *(RuntimeTypeHandle*)&pEEType;
        private static RuntimeMethodHandle GetRuntimeMethodHandle(nint pHandleSignature) => *(RuntimeMethodHandle*)&pHandleSignature;
        private static RuntimeFieldHandle GetRuntimeFieldHandle(nint pHandleSignature) => *(RuntimeFieldHandle*)&pHandleSignature;

        private static Type GetRuntimeType(nint pEEType)
        {
            Environment.FailFast("typeof: no Type objects freestanding");
            return null;
        }
    }
}
