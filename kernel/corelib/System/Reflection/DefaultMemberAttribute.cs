namespace System.Reflection
{
    /// <summary>Names a type's indexer in metadata (the compiler emits it for <c>this[...]</c>).</summary>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface)]
    public sealed class DefaultMemberAttribute : Attribute
    {
        public DefaultMemberAttribute(string memberName) { MemberName = memberName; }
        public string MemberName { get; }
    }
}
