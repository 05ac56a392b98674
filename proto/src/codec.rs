//! The codec every generated client and server uses: prost's, with the message's `buf.validate`
//! rules checked as it is decoded. A service's handler therefore only ever sees a request that
//! keeps the contract's rules, whichever client sent it (the gateway, grpcurl, another
//! service); a broken rule is `INVALID_ARGUMENT` naming the field, before any handler runs.
//! Messages without rules (every response) decode exactly as with prost's codec.

use std::{
    any::TypeId,
    collections::HashMap,
    sync::{LazyLock, PoisonError, RwLock},
};

use prost::{Message, Name, bytes::Buf};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::rules;

/// prost's codec, checking the rules of what it decodes.
#[derive(Debug, Clone, Default)]
pub struct ValidatingCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Codec for ValidatingCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ValidatingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ValidatingDecoder(self.0.decoder())
    }
}

/// Decodes `U`, then checks its rules.
#[derive(Debug)]
pub struct ValidatingDecoder<U>(ProstDecoder<U>);

/// `U`'s descriptor when it carries rules, looked up by full name once per type: a decode (every
/// response the gateway reads) then costs a read of this map, not a name built and hashed.
fn ruled<U: Name + 'static>() -> Option<&'static MessageDescriptor> {
    static BY_TYPE: LazyLock<RwLock<HashMap<TypeId, Option<&'static MessageDescriptor>>>> =
        LazyLock::new(Default::default);
    let id = TypeId::of::<U>();
    if let Some(known) = BY_TYPE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
    {
        return *known;
    }
    let found = rules::ruled(&U::full_name());
    BY_TYPE
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, found);
    found
}

impl<U> Decoder for ValidatingDecoder<U>
where
    U: Message + Name + Default + 'static,
{
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let Some(descriptor) = ruled::<U>() else {
            return self.0.decode(buf);
        };
        let bytes = buf.copy_to_bytes(buf.remaining());
        let dynamic = DynamicMessage::decode(descriptor.clone(), bytes.clone())
            .map_err(|err| Status::internal(err.to_string()))?;
        rules::check(&dynamic)
            .map_err(|violations| Status::invalid_argument(violations.to_string()))?;
        U::decode(bytes)
            .map(Some)
            .map_err(|err| Status::internal(err.to_string()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
